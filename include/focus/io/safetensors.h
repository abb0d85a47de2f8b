// safetensors (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length, a
// JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then raw data.
// Readable by Python's safetensors and by PyTorch.
#pragma once

#include <map>
#include <string>

#include "focus/tensor.h"

namespace focus::io {

struct TensorFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;

  // The named tensor; throws naming the file and the missing key.
  const Tensor& at(const std::string& name) const;
  std::string path;
};

// Parses defensively: a truncated file, a bad header, offsets out of range, an unknown dtype or
// NaN in the data are errors that name the file and what was wrong.
TensorFile load_safetensors(const std::string& path, bool allow_nonfinite = false);

// Writes atomically: a temporary file beside `path`, fsync, rename. A crash never leaves a broken
// file, and the previous file stays intact if anything fails.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace focus::io
