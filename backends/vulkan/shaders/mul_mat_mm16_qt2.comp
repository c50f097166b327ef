#version 450
// mul_mat (mm, f16 tiles and f16 dots) for QT2 weights (body: mul_mat_mm.glsl; decode: quant/qt2.glsl).
#define QUANTA_F16 1
#include "quant/qt2.glsl"
#include "mul_mat_mm.glsl"
