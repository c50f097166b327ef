#version 450
// get_rows for Q4_1 tables (body: get_rows.glsl; decode: quant/q4_1.glsl).
#include "quant/q4_1.glsl"
#include "get_rows.glsl"
