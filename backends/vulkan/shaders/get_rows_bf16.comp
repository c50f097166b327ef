#version 450
// get_rows for BF16 tables (body: get_rows.glsl; decode: quant/bf16.glsl).
#include "quant/bf16.glsl"
#include "get_rows.glsl"
