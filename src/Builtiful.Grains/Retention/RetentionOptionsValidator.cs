using Microsoft.Extensions.Options;

namespace Builtiful.Retention;

/// <summary>The data annotations on <see cref="RetentionOptions"/>, checked by generated code; each failure names its key and the accepted range.</summary>
[OptionsValidator]
public sealed partial class RetentionOptionsValidator : IValidateOptions<RetentionOptions>;
