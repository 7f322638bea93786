#include "segment_async.h"

#include <string>

#include "errors.h"
#include "mapping.h"
#include "platform.h"

namespace shmkit {
namespace {

// Runs OpenSegment (create + reserve) and lets go of the handle
// (KeepUnmapped: closed on POSIX, held on Windows), off the JS thread.
class CreateWorker : public Napi::AsyncWorker {
 public:
  CreateWorker(Napi::Function callback, OpenRequest request)
      : Napi::AsyncWorker(callback, "shmkit:createUnmapped"),
        request_(std::move(request)) {}

 protected:
  void Execute() override {
    result_ = OpenSegment(request_);
    if (result_.err != 0) return;
    allocated_ = AllocatedBytes(result_.handle, result_.size);
    KeepUnmapped(request_.name, result_.handle);
    result_.handle = kNoHandle;
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (result_.err != 0) {
      Napi::Error error =
          result_.code != nullptr
              ? Napi::Error::New(env, "'" + request_.name + "' is " +
                                          (result_.detail ? result_.detail : ""))
              : ErrnoError(env, result_.err, result_.syscall, request_.name,
                           result_.detail);
      if (result_.code != nullptr) error.Set("code", Napi::String::New(env, result_.code));
      if (result_.space.known) error.Set("space", SpaceObject(env, result_.space));
      Callback().Call({error.Value()});
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("size", Napi::Number::New(env, static_cast<double>(result_.size)));
    out.Set("allocated", Napi::Number::New(env, static_cast<double>(allocated_)));
    Callback().Call({env.Null(), out});
  }

 private:
  OpenRequest request_;
  OpenResult result_;
  uint64_t allocated_ = 0;
};

class UnlinkWorker : public Napi::AsyncWorker {
 public:
  UnlinkWorker(Napi::Function callback, std::string name)
      : Napi::AsyncWorker(callback, "shmkit:unlinkAsync"), name_(std::move(name)) {}

 protected:
  void Execute() override { err_ = UnlinkSegment(name_); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (err_ != 0) {
      Callback().Call({ErrnoError(env, err_, kUnlinkCall, name_).Value()});
      return;
    }
    Callback().Call({env.Null()});
  }

 private:
  std::string name_;
  int err_ = 0;
};

// createUnmapped(name, mode, size, memoryRoom, callback); memoryRoom < 0: unknown.
Napi::Value CreateUnmapped(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[1].IsNumber() ||
      !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsFunction()) {
    ThrowArgType(env, "createUnmapped(name, mode, size, memoryRoom, callback)");
    return env.Undefined();
  }
  OpenRequest request;
  request.name = info[0].As<Napi::String>().Utf8Value();
  request.create = true;
  request.populate = true;
  request.mode = info[1].As<Napi::Number>().Uint32Value() & 0777;
  double size = info[2].As<Napi::Number>().DoubleValue();
  double room = info[3].As<Napi::Number>().DoubleValue();
  if (!ValidName(request.name) || !(size >= 1) || size > 9007199254740991.0) {
    ThrowArgType(env, "createUnmapped: invalid name or size");
    return env.Undefined();
  }
  request.size = static_cast<uint64_t>(size);
  if (room >= 0 && room < 18446744073709551615.0) request.memory_room = static_cast<uint64_t>(room);
  (new CreateWorker(info[4].As<Napi::Function>(), std::move(request)))->Queue();
  return env.Undefined();
}

// unlinkAsync(name, callback)
Napi::Value UnlinkAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsFunction()) {
    ThrowArgType(env, "unlinkAsync(name, callback)");
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (!ValidName(name)) {
    ThrowArgType(env, "unlinkAsync: invalid name");
    return env.Undefined();
  }
  (new UnlinkWorker(info[1].As<Napi::Function>(), std::move(name)))->Queue();
  return env.Undefined();
}

}  // namespace

void InitSegmentAsync(Napi::Env env, Napi::Object exports) {
  exports.Set("createUnmapped", Napi::Function::New<CreateUnmapped>(env, "createUnmapped"));
  exports.Set("unlinkAsync", Napi::Function::New<UnlinkAsync>(env, "unlinkAsync"));
}

}  // namespace shmkit
