using Builtiful.Gateway.Webhooks;
using Builtiful.Jobs;

namespace Builtiful.Gateway.Tests;

/// <summary>The refusal counter's <c>reason</c> tag comes from the job's code, never from how its reason is worded.</summary>
public sealed class RejectionCodeTests
{
    [Fact]
    public void Every_code_has_its_own_snake_case_tag_value()
    {
        var tags = Enum.GetValues<RejectionCode>().Select(c => c.ToWire()).ToList();

        Assert.Equal(tags.Count, tags.Distinct(StringComparer.Ordinal).Count());
        Assert.All(tags, t => Assert.Matches("^[a-z]+(_[a-z]+)*$", t));
    }

    [Theory]
    [InlineData(RejectionCode.PublicRepository, "anything at all", RefusalReasons.PublicRepository)]
    [InlineData(RejectionCode.RepositoryNotAllowed, "installation 7 is suspended", RefusalReasons.RepositoryNotAllowed)]
    [InlineData(RejectionCode.OperatorSuspended, "x", RefusalReasons.OperatorSuspended)]
    [InlineData(RejectionCode.UnknownInstallation, "y", RefusalReasons.UnknownInstallation)]
    public void The_tag_follows_the_code_whatever_the_words(RejectionCode code, string reason, string tag)
    {
        var job = new JobView { Id = 1, Status = JobStatus.Queued, RejectionCode = code, RejectionReason = reason };

        Assert.Equal(tag, WebhookMetrics.Classify(job));
    }

    [Fact]
    public void A_job_without_a_code_is_other()
    {
        Assert.Equal(RefusalReasons.Other, WebhookMetrics.Classify(new JobView { Id = 1, Status = JobStatus.Queued, RejectionReason = "is suspended" }));
        Assert.Equal(RefusalReasons.Other, WebhookMetrics.Classify(null));
    }

    [Theory]
    [InlineData("public", false, RepositoryVisibility.Public)]
    [InlineData("PRIVATE", false, RepositoryVisibility.Private)]
    [InlineData("internal", false, RepositoryVisibility.Internal)]
    [InlineData(null, true, RepositoryVisibility.Private)]
    [InlineData(null, false, RepositoryVisibility.Public)]
    [InlineData("something-new", true, RepositoryVisibility.Private)]
    [InlineData(null, null, RepositoryVisibility.Unknown)]
    public void Visibility_comes_from_visibility_then_private_and_unknown_needs_the_opt_in(string? visibility, bool? isPrivate, RepositoryVisibility expected)
    {
        var parsed = RepositoryVisibilities.From(visibility, isPrivate);

        Assert.Equal(expected, parsed);
        Assert.Equal(expected is RepositoryVisibility.Public or RepositoryVisibility.Unknown, parsed.NeedsPublicOptIn());
    }
}
