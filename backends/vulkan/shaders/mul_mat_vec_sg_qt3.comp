#version 450
// mul_mat (vec, subgroup reduction) for QT3 weights (body: mul_mat_vec.glsl; decode: quant/qt3.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/qt3.glsl"
#include "mul_mat_vec.glsl"
