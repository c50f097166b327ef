#version 450
// get_rows for Q5_K tables (body: get_rows.glsl; decode: quant/q5_k.glsl).
#include "quant/q5_k.glsl"
#include "get_rows.glsl"
