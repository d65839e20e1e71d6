using Microsoft.Extensions.Options;

namespace Builtiful.Reconciliation;

/// <summary>The data annotations on <see cref="ReconcilerOptions"/>, checked by generated code; each failure names its key.</summary>
[OptionsValidator]
public sealed partial class ReconcilerOptionsValidator : IValidateOptions<ReconcilerOptions>;
