#version 450
// mul_mat (mm, f16 tiles and f16 dots) for QT4 weights (body: mul_mat_mm.glsl; decode: quant/qt4.glsl).
#define QUANTA_F16 1
#include "quant/qt4.glsl"
#include "mul_mat_mm.glsl"
