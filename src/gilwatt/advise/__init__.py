"""``gilwatt advise``: measure the user's own program on both builds and say which build, how
many workers, threads or processes (issue 13).

- :mod:`.decision`: the rule (pure): minimise the objective, a 5% equivalence margin, the
  simplest option within it, and a confidence from Dirichlet re-draws;
- :mod:`.simulate`: the rule under known truth (the test of the rule);
- :mod:`.target`: what the user asked to run, as argv per interpreter and worker count;
- :mod:`.readiness`: checks before any timing (pair, GIL culprits, distributions, native
  pools, output across builds);
- :mod:`.plan`: the ladder and the candidates; :mod:`.measure`: one run, its figures and the
  machine gate; :mod:`.blocks`: calibration, blocks and reruns of disturbed runs;
  :mod:`.session`: the session within the budget, written as a study named "advise";
- :mod:`.conclude`: the candidates' figures into the advice and the exit code;
- :mod:`.fits`: memory per added worker and scaling, with intervals;
- :mod:`.why`: the explanation lines; :mod:`.render`: text and JSON.
"""
