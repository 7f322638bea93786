{
  "variables": { "shmkit_asan%": 0 },
  "targets": [
    {
      "target_name": "shmkit",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/mapping.cc",
        "src/segment_async.cc"
      ],
      "include_dirs": ["src", "<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=9",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fno-exceptions"],
      "cflags_cc!": ["-fexceptions"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 0 }
      },
      "conditions": [
        ["OS!='win'", {
          "sources": [
            "src/posix/futex.cc",
            "src/posix/segment.cc",
            "src/posix/socket.cc",
            "src/posix/uring.cc",
            "src/posix/view.cc",
            "src/posix/wait_uring.cc"
          ]
        }],
        ["OS=='win'", {
          "sources": [
            "src/win32/process.cc",
            "src/win32/segment.cc",
            "src/win32/view.cc",
            "src/win32/wait.cc"
          ],
          "defines": ["WIN32_LEAN_AND_MEAN", "NOMINMAX", "_WIN32_WINNT=0x0A00", "UNICODE", "_UNICODE"]
        }],
        ["OS=='linux'", { "libraries": ["-lrt", "-pthread"], "cflags_cc": ["-pthread"] }],
        ["OS=='linux' and shmkit_asan==1", {
          "cflags_cc": ["-fsanitize=address", "-fno-omit-frame-pointer", "-g", "-O1"],
          "ldflags": ["-fsanitize=address"]
        }]
      ]
    }
  ]
}
