#version 450
// get_rows for F32 tables (body: get_rows.glsl; decode: quant/f32.glsl).
#include "quant/f32.glsl"
#include "get_rows.glsl"
