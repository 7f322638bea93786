#include "errors.h"

#include "platform.h"

namespace shmkit {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall,
                       const std::string& path, const char* detail) {
  Napi::Error error = Napi::Error::New(env, ErrorMessage(err));
  if (detail != nullptr) error.Set("detail", Napi::String::New(env, detail));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  error.Set("path", Napi::String::New(env, path));
  return error;
}

void ThrowErrno(Napi::Env env, int err, const char* syscall,
                const std::string& path, const char* detail) {
  ErrnoError(env, err, syscall, path, detail).ThrowAsJavaScriptException();
}

void ThrowCode(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
}

void ThrowArgType(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  error.ThrowAsJavaScriptException();
}

}  // namespace shmkit
