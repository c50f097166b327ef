#version 450
// get_rows for Q8_0 tables (body: get_rows.glsl; decode: quant/q8_0.glsl).
#include "quant/q8_0.glsl"
#include "get_rows.glsl"
