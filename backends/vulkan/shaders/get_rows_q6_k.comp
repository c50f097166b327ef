#version 450
// get_rows for Q6_K tables (body: get_rows.glsl; decode: quant/q6_k.glsl).
#include "quant/q6_k.glsl"
#include "get_rows.glsl"
