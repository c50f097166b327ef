#version 450
// mul_mat (vec) for QT4 weights (body: mul_mat_vec.glsl; decode: quant/qt4.glsl).
#include "quant/qt4.glsl"
#include "mul_mat_vec.glsl"
