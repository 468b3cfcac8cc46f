from tinyscope.cli import main

raise SystemExit(main())
