#version 450
// mul_mat (vec, subgroup reduction) for QT4 weights (body: mul_mat_vec.glsl; decode: quant/qt4.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/qt4.glsl"
#include "mul_mat_vec.glsl"
