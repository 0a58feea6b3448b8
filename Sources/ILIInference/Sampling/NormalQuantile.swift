import RealModule

/// Φ⁻¹(p), the standard normal quantile, to about 1e-15 relative error.
///
/// Acklam's rational approximation (relative error 1.2e-9) refined by one Halley step on
/// Φ(x) − p, with Φ from erfc, which keeps full precision in the tails.
///
/// ```swift
/// normalQuantile(0.975)   // 1.959963984540054
/// ```
func normalQuantile(_ p: Double) -> Double {
    if p <= 0 { return -.infinity }
    if p >= 1 { return .infinity }
    let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
    let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
             6.680131188771972e+01, -1.328068155288572e+01]
    let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
    let e = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
             3.754408661907416e+00]
    let tail = 0.02425
    var x: Double
    if p < tail || p > 1 - tail {
        // The tails, by symmetry from the lower one.
        let q = Double.sqrt(-2 * Double.log(p < tail ? p : 1 - p))
        let v = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
            / ((((e[0] * q + e[1]) * q + e[2]) * q + e[3]) * q + 1)
        x = p < tail ? v : -v
    } else {
        let q = p - 0.5, r = q * q
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    }
    // Halley's step: u = (Φ(x) − p) / φ(x); x ← x − u / (1 + x u / 2).
    let error = 0.5 * Double.erfc(-x / Double.sqrt(2)) - p
    let u = error * Double.sqrt(2 * .pi) * Double.exp(x * x / 2)
    x -= u / (1 + x * u / 2)
    return x
}
