// shaders/mul_mat_params.glsl — push constants shared by the mul_mat bodies (mul_mat_vec.glsl,
// mul_mat_mm.glsl). Weights are addressed in bytes of binding 0, activations and output in floats
// of bindings 1 and 2. One dispatch covers weight rows [row0, row0 + n) of the output; a weight
// matrix larger than one binding is recorded as several dispatches, each binding the window that
// starts at its first row (backends/vulkan/ops_matmul.cpp).
layout(push_constant) uniform Params {
    uint k;        // elements per row (dim 0 of w and x)
    uint n;        // weight rows in this dispatch
    uint m;        // activation rows (dim 1 of x)
    uint row0;     // output row (dim 0 of dst) of weight row 0 of this dispatch
    uint w_off;    // byte of weight row 0 of this dispatch in binding 0
    uint w_nb1;    // bytes between weight rows
    uint w_nb2;    // bytes between weight batches (dim 2), 0 when a dispatch holds one batch
    uint w_nb3;
    uint r2;       // x batches per weight batch in dim 2 (GQA broadcast), >= 1
    uint r3;
    uint x_off;    // elements (floats, or halves for F16): first activation element in binding 1
    uint x_nb1;    // elements between activation rows
    uint x_nb2;
    uint x_nb3;
    uint d_off;    // floats: first output element in binding 2
    uint d_nb1;    // floats between output rows (dim 1); dim 0 is packed
    uint d_nb2;
    uint d_nb3;
    uint b2;       // x batches in dim 2 (B2)
    uint batch0;   // first flattened x batch (i2 + B2 * i3) of this dispatch
} p;

// Activations: X_F16 (specialization constant 3) 0 = F32 (x[]), 1 = F16 (xh[], two per word; then
// x_off and x_nb* count halves). x_at(i) is activation element i as a float (exact either way).
layout(constant_id = 3) const uint X_F16 = 0u;
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer XH { uint xh[]; };
float x_at(uint i) { return X_F16 != 0u ? unpackHalf2x16(xh[i >> 1] >> ((i & 1u) * 16u)).x : x[i]; }
layout(std430, binding = 2) writeonly buffer Dst { float dst[]; };
