#version 450
// mul_mat (vec) for QT2 weights (body: mul_mat_vec.glsl; decode: quant/qt2.glsl).
#include "quant/qt2.glsl"
#include "mul_mat_vec.glsl"
