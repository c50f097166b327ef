#version 450
// get_rows for IQ4_XS tables (body: get_rows.glsl; decode: quant/iq4_xs.glsl).
#include "quant/iq4_xs.glsl"
#include "get_rows.glsl"
