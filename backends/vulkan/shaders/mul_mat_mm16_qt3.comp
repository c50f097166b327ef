#version 450
// mul_mat (mm, f16 tiles and f16 dots) for QT3 weights (body: mul_mat_mm.glsl; decode: quant/qt3.glsl).
#define QUANTA_F16 1
#include "quant/qt3.glsl"
#include "mul_mat_mm.glsl"
