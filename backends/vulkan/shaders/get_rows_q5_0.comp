#version 450
// get_rows for Q5_0 tables (body: get_rows.glsl; decode: quant/q5_0.glsl).
#include "quant/q5_0.glsl"
#include "get_rows.glsl"
