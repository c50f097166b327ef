#version 450
// mul_mat (vec, subgroup reduction) for QT2 weights (body: mul_mat_vec.glsl; decode: quant/qt2.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/qt2.glsl"
#include "mul_mat_vec.glsl"
