#version 450
// get_rows for Q3_K tables (body: get_rows.glsl; decode: quant/q3_k.glsl).
#include "quant/q3_k.glsl"
#include "get_rows.glsl"
