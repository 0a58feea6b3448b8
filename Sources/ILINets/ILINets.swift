// ILINets: conditional density estimators (MAF, NSF, MDN, MADE), classifiers and
// embedding networks, built on ILITensor's tape.
@_exported import ILITensor
