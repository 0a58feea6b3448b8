#ifndef ILI_KERNELS_H
#define ILI_KERNELS_H

// Element-wise kernels written in C because Swift's square root goes through libm's
// errno-setting sqrtf, which keeps these loops scalar; compiled with -fno-math-errno
// they vectorize.

/// One Adam step over `count` float32 parameters, in place: with gᵢ' = gᵢ + l2·θᵢ,
/// m ← b1·m + (1−b1)·g', v ← b2·v + (1−b2)·g'², θ ← shrink·θ − stepSize·m / (√v / sqrtCorrection2 + eps).
void ili_adam_update_f32(float *theta, const float *gradient, float *m, float *v, long count,
                         float b1, float b2, float eps, float l2, float shrink,
                         float step_size, float sqrt_correction2);

/// Makes glibc serve blocks of up to 32 MiB from the heap and keep up to 512 MiB of freed
/// heap instead of returning it to the kernel; a no-op elsewhere. See ILITensor's
/// `AllocatorTuning`.
void ili_keep_freed_memory(void);

#endif
