#version 450
// get_rows for Q5_1 tables (body: get_rows.glsl; decode: quant/q5_1.glsl).
#include "quant/q5_1.glsl"
#include "get_rows.glsl"
