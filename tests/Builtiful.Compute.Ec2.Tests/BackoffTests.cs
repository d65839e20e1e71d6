using Builtiful.Retries;

namespace Builtiful.Compute.Ec2.Tests;

/// <summary>The one backoff policy (EC2's throttling and resend retries use it); pure, so seeded and exact.</summary>
public sealed class BackoffTests
{
    private static readonly TimeSpan Base = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(10);

    [Fact]
    public void The_ceiling_doubles_from_the_base_until_the_cap()
    {
        var backoff = new Backoff(Base, Max);

        Assert.Equal(TimeSpan.FromMilliseconds(200), backoff.Ceiling(1));
        Assert.Equal(TimeSpan.FromMilliseconds(400), backoff.Ceiling(2));
        Assert.Equal(TimeSpan.FromMilliseconds(800), backoff.Ceiling(3));
        Assert.Equal(TimeSpan.FromMilliseconds(6400), backoff.Ceiling(6));
        Assert.Equal(Max, backoff.Ceiling(7));
        Assert.Equal(Max, backoff.Ceiling(1000));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(42)]
    public void Full_jitter_stays_between_zero_and_the_capped_ceiling_and_spreads_over_it(int seed)
    {
        var backoff = new Backoff(Base, Max, BackoffJitter.Full);
        var random = new Random(seed);

        for (var retry = 1; retry <= 12; retry++)
        {
            var delays = Enumerable.Range(0, 400).Select(_ => backoff.Delay(retry, TimeSpan.Zero, random)).ToList();
            Assert.All(delays, d => Assert.InRange(d, TimeSpan.Zero, backoff.Ceiling(retry)));
            // Jitter, not a constant: the draws cover the low and the high quarter of the range.
            Assert.Contains(delays, d => d < backoff.Ceiling(retry) / 4);
            Assert.Contains(delays, d => d > backoff.Ceiling(retry) * 3 / 4);
        }
    }

    [Fact]
    public void Full_jitter_grows_on_average_with_each_retry_until_the_cap()
    {
        var backoff = new Backoff(Base, Max, BackoffJitter.Full);
        var random = new Random(3);

        var means = Enumerable.Range(1, 8)
            .Select(retry => Enumerable.Range(0, 2000).Average(_ => backoff.Delay(retry, TimeSpan.Zero, random).TotalMilliseconds))
            .ToList();

        for (var i = 1; i < 6; i++)
        {
            Assert.InRange(means[i] / means[i - 1], 1.7, 2.3);
        }

        Assert.InRange(means[7], Max.TotalMilliseconds * 0.45, Max.TotalMilliseconds * 0.55);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    public void Decorrelated_jitter_stays_between_the_base_and_three_times_the_previous_delay_and_under_the_cap(int seed)
    {
        var backoff = new Backoff(Base, Max, BackoffJitter.Decorrelated);

        var delays = backoff.Delays(new Random(seed)).Take(200).ToList();

        Assert.InRange(delays[0], Base, Base * 3);
        for (var i = 1; i < delays.Count; i++)
        {
            Assert.InRange(delays[i], Base, TimeSpan.FromTicks(Math.Min(Max.Ticks, delays[i - 1].Ticks * 3)));
        }

        Assert.Contains(delays, d => d > Max / 2);
    }

    [Fact]
    public void A_seeded_random_gives_the_same_delays()
    {
        var backoff = new Backoff(Base, Max, BackoffJitter.Decorrelated);

        Assert.Equal(backoff.Delays(new Random(5)).Take(10), backoff.Delays(new Random(5)).Take(10));
        Assert.NotEqual(backoff.Delays(new Random(5)).Take(10), backoff.Delays(new Random(6)).Take(10));
    }

    [Fact]
    public void A_base_of_zero_or_a_cap_below_the_base_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(TimeSpan.Zero, Max));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(Max, Base));
    }
}
