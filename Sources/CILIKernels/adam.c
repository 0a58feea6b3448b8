#include "ili_kernels.h"
#include <math.h>

void ili_adam_update_f32(float *restrict theta, const float *restrict gradient, float *restrict m,
                         float *restrict v, long count, float b1, float b2, float eps, float l2,
                         float shrink, float step_size, float sqrt_correction2) {
    for (long i = 0; i < count; i++) {
        float g = gradient[i] + l2 * theta[i];
        float mi = b1 * m[i] + (1.0f - b1) * g;
        float vi = b2 * v[i] + (1.0f - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float denominator = sqrtf(vi) / sqrt_correction2 + eps;
        theta[i] = theta[i] * shrink - step_size * mi / denominator;
    }
}
