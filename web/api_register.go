package web

// registerRoutes serves people, vendors, risks and incidents (JSON API and pages).
func (s *Server) registerRoutes() []Route {
	return nil
}
