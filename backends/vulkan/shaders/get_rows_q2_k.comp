#version 450
// get_rows for Q2_K tables (body: get_rows.glsl; decode: quant/q2_k.glsl).
#include "quant/q2_k.glsl"
#include "get_rows.glsl"
