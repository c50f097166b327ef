#version 450
// mul_mat (mm) for QT3 weights (body: mul_mat_mm.glsl; decode: quant/qt3.glsl).
#include "quant/qt3.glsl"
#include "mul_mat_mm.glsl"
