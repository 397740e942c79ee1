"""``gilwatt advise``: measure the user's own program on both builds and say which build, how
many workers, threads or processes (issue 13).

- :mod:`.decision`: the rule (pure): minimise the objective, a 5% equivalence margin, the
  simplest option within it, and a confidence from Dirichlet re-draws;
- :mod:`.simulate`: the rule under known truth (the test of the rule);
- :mod:`.target`: what the user asked to run, as argv per interpreter and worker count;
- :mod:`.readiness`: checks before any timing (pair, GIL culprits, distributions, native
  pools, output across builds);
- :mod:`.plan`: the ladder and the candidates; :mod:`.measure`: calibration and replicates
  within the budget, written as a study named "advise";
- :mod:`.why`: the explanation lines; :mod:`.render`: text and JSON.
"""
