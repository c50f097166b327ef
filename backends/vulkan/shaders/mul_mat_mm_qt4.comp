#version 450
// mul_mat (mm) for QT4 weights (body: mul_mat_mm.glsl; decode: quant/qt4.glsl).
#include "quant/qt4.glsl"
#include "mul_mat_mm.glsl"
