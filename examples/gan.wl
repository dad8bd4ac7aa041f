(* A generative adversarial network: NetGANOperator and TrainingUpdateSchedule.

   The generator turns 2-D standard normal noise into points; the discriminator scores
   points (a LogisticSigmoid at its end, so the loss is "JensenShannon": the probability
   that a point is real). Real points come from a correlated 2-D normal distribution.
   NetTrain alternates one discriminator step and one generator step; the generator
   ascends the discriminator's loss on its points (its gradient is reversed). After
   training, the generator alone (NetExtract[trained, "Generator"]) draws points whose
   mean and covariance match the real distribution's.
   Run: netdsl examples/gan.wl   (a few seconds) *)

SeedRandom[1];                       (* the data and noise below repeat run to run *)
mean = {2., -1.};
cov = {{1., 0.6}, {0.6, 0.5}};
real = MultinormalDistribution[mean, cov];

generator = NetChain[{LinearLayer[16], Tanh, LinearLayer[2]}, "Input" -> 2];
discriminator = NetChain[{LinearLayer[32], Tanh, LinearLayer[32], Tanh, LinearLayer[{}],
    LogisticSigmoid}];
gan = NetGANOperator[{generator, discriminator}];
Print[gan];

batches = Function[<|"Sample" -> RandomVariate[real, #BatchSize],
    "Latent" -> RandomVariate[NormalDistribution[], {#BatchSize, 2}]|>];
results = NetTrain[gan, {batches, "RoundLength" -> 6400}, All, BatchSize -> 64,
    MaxTrainingRounds -> 40, TrainingUpdateSchedule -> {"Discriminator", "Generator"},
    Method -> {"ADAM", "LearningRate" -> 0.002, "Beta1" -> 0.5,
      "LearningRateSchedule" -> (1 - #1/#2 &)}, RandomSeeding -> 1234];
    (* the rate falls linearly to 0: a GAN's generator circles the equilibrium at a fixed
       rate (errors 0.1-0.5 by seed after 30 rounds); annealed, it settles (0.03-0.17) *)
Print["last round's LossReal + LossFake (2 Log[2] = 1.386 at the equilibrium): ",
    Last[results["RoundLossList"]]];

sampler = NetExtract[results["TrainedNet"], "Generator"];
points = sampler[RandomVariate[NormalDistribution[], {20000, 2}]];
Print["generated mean: ", Mean[points], "  real mean: ", mean];
Print["generated covariance: ", Covariance[points], "  real covariance: ", cov];
Print["largest error: ", Max[Abs[Join[Mean[points] - mean, Flatten[Covariance[points] - cov]]]]];
