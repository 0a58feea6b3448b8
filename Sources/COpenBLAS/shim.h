#ifndef ILI_COPENBLAS_SHIM_H
#define ILI_COPENBLAS_SHIM_H

// The part of OpenBLAS (libopenblas-dev) that ili calls, declared here rather than
// through <cblas.h> so that Swift sees only these symbols. The enum values are the
// CBLAS standard's.

enum ILICBLASOrder { ILICBLASRowMajor = 101, ILICBLASColMajor = 102 };
enum ILICBLASTranspose { ILICBLASNoTrans = 111, ILICBLASTrans = 112 };

void cblas_sgemm(enum ILICBLASOrder order, enum ILICBLASTranspose transA, enum ILICBLASTranspose transB,
                 int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);

void cblas_dgemm(enum ILICBLASOrder order, enum ILICBLASTranspose transA, enum ILICBLASTranspose transB,
                 int m, int n, int k, double alpha, const double *a, int lda,
                 const double *b, int ldb, double beta, double *c, int ldc);

void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);

#endif
