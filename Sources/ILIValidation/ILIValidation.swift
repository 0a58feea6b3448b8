// ILIValidation: the checks that decide whether a posterior can be trusted (SBC,
// coverage, TARP, predictive checks, C2ST) and the plots that show them.
@_exported import ILIInference
