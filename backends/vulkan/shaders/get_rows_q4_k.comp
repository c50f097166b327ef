#version 450
// get_rows for Q4_K tables (body: get_rows.glsl; decode: quant/q4_k.glsl).
#include "quant/q4_k.glsl"
#include "get_rows.glsl"
