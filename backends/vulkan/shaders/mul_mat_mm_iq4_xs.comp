#version 450
// mul_mat (mm) for IQ4_XS weights (body: mul_mat_mm.glsl; decode: quant/iq4_xs.glsl).
#include "quant/iq4_xs.glsl"
#include "mul_mat_mm.glsl"
