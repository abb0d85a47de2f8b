// The vision transformer and the soft-attention image baseline live together in vision.h.
#pragma once

#include "focus/models/vision.h"
