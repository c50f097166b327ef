#version 450
// mul_mat (mm) for QT2 weights (body: mul_mat_mm.glsl; decode: quant/qt2.glsl).
#include "quant/qt2.glsl"
#include "mul_mat_mm.glsl"
