using Microsoft.Extensions.Options;

namespace Builtiful.GitHub;

/// <summary>The data annotations on <see cref="DeliveryRecoveryOptions"/>, checked by generated code; each failure names its key.</summary>
[OptionsValidator]
public sealed partial class DeliveryRecoveryOptionsValidator : IValidateOptions<DeliveryRecoveryOptions>;
