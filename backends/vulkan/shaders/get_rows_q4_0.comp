#version 450
// get_rows for Q4_0 tables (body: get_rows.glsl; decode: quant/q4_0.glsl).
#include "quant/q4_0.glsl"
#include "get_rows.glsl"
