#include "client/object_value.h"

namespace flare {

Pin::~Pin() {
  if (auto releaser = releaser_.lock()) releaser->ReleasePin(id_);
}

ObjectValue MakeObjectValue(const rpc::ObjectData& data, const std::shared_ptr<Arena>& arena,
                            const std::weak_ptr<PinReleaser>& releaser) {
  ObjectValue value;
  value.id = ObjectId::FromBinary(data.object_id());
  value.error = data.error();
  value.error_message = data.error_message();
  if (data.in_store()) {
    value.pin = std::make_shared<Pin>(releaser, arena, value.id);
    value.data = arena->base() + data.offset();
    value.size = data.size();
  } else {
    auto bytes = std::make_shared<const std::string>(data.inline_data());
    value.data = reinterpret_cast<const uint8_t*>(bytes->data());
    value.size = bytes->size();
    value.inline_data = std::move(bytes);
  }
  return value;
}

}  // namespace flare
