using Microsoft.Extensions.Options;

namespace Builtiful.Usage;

/// <summary>The data annotations on <see cref="UsageOptions"/>, checked by generated code; each failure names its key.</summary>
[OptionsValidator]
public sealed partial class UsageOptionsValidator : IValidateOptions<UsageOptions>;
