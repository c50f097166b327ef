#version 450
// mul_mat (vec) for QT3 weights (body: mul_mat_vec.glsl; decode: quant/qt3.glsl).
#include "quant/qt3.glsl"
#include "mul_mat_vec.glsl"
