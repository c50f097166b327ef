#version 450
// get_rows for IQ4_NL tables (body: get_rows.glsl; decode: quant/iq4_nl.glsl).
#include "quant/iq4_nl.glsl"
#include "get_rows.glsl"
