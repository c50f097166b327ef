#version 450
// get_rows for F16 tables (body: get_rows.glsl; decode: quant/f16.glsl).
#include "quant/f16.glsl"
#include "get_rows.glsl"
