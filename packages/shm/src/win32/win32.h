// What the Windows files share beyond platform.h.
#ifndef SHMKIT_WIN32_WIN32_H_
#define SHMKIT_WIN32_WIN32_H_

#include <cstdint>
#include <string>

namespace shmkit {

// libuv's EMFILE on Windows (uv/errno.h), positive as in platform.h.
constexpr int kEMFILE = 4066;

// A Win32 error (GetLastError) as an error number of platform.h: ENOENT,
// EEXIST, EACCES, ENOMEM… (kEIO for anything unforeseen).
int FromWin32(unsigned long error);

// UTF-8 to UTF-16, for the W functions.
std::wstring Wide(const std::string& text);

// Whether a mapping named `name` exists (held by some process).
bool SegmentExists(const std::string& name);

// Opens the mapping `name` and keeps the handle in this process's holds
// (KeepUnmapped), so that it lives until UnlinkSegment(name) releases it or
// the process ends, whoever else closes it. A name held already stays held
// once. Returns 0 or an error number (kENOENT: no such mapping).
int HoldSegment(const std::string& name);

// The size of the mapping `name` as a view of it reports it (whole pages,
// VirtualQuery), or an error number as a negative value.
int64_t SegmentSize(const std::string& name);

}  // namespace shmkit

#endif  // SHMKIT_WIN32_WIN32_H_
