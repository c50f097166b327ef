#version 450
// mul_mat (mm, f16 tiles and f16 dots) for IQ4_XS weights (body: mul_mat_mm.glsl; decode: quant/iq4_xs.glsl).
#define QUANTA_F16 1
#include "quant/iq4_xs.glsl"
#include "mul_mat_mm.glsl"
